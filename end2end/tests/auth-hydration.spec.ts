// Text typed into the account forms before the wasm has loaded survives hydration: the inputs
// are not controlled by a signal, so hydrating does not write the (empty) initial value back.
import { expect, test } from "@playwright/test";
import { PASSWORD, uniqueEmail } from "./accounts";
import { holdWasm, hydrated } from "./hydration";
import { JarvisServer } from "./server";

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

for (const { path, button, fields } of [
  {
    path: "/login",
    button: "Log in",
    fields: [
      ["Email", "typed-early@example.com"],
      ["Password", "typed before hydration"],
    ],
  },
  {
    path: "/register",
    button: "Create account",
    fields: [
      ["Email", "typed-early@example.com"],
      ["Password", "typed before hydration"],
      ["Your name (optional)", "Early Bird"],
    ],
  },
] as const) {
  test(`${path}: what is typed before hydration is kept`, async ({ page }) => {
    const wasm = await holdWasm(page);
    await page.goto(`${server.baseUrl}${path}`, { waitUntil: "domcontentloaded" });
    await wasm.requested;

    for (const [label, value] of fields) {
      await page.getByLabel(label, { exact: true }).fill(value);
    }
    wasm.release();
    await hydrated(page, wasm);

    for (const [label, value] of fields) {
      await expect(page.getByLabel(label, { exact: true })).toHaveValue(value);
    }
    await expect(page.getByRole("button", { name: button })).toBeEnabled();
  });
}

test("a registration typed before hydration is sent as typed and signs in", async ({ page }) => {
  const email = uniqueEmail();
  const wasm = await holdWasm(page);
  await page.goto(`${server.baseUrl}/register`, { waitUntil: "domcontentloaded" });
  await wasm.requested;
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  wasm.release();
  await hydrated(page, wasm);

  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(`${server.baseUrl}/app`);
  await expect(page.getByTestId("account-email")).toHaveText(email);
});
