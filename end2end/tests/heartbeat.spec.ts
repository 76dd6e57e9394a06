// The socket's heartbeat: an idle page proves its socket once, then pings it once per 20 s of
// silence (not as fast as pongs come back), and stays connected.
import { expect, test } from "@playwright/test";
import { signUp } from "./accounts";
import { JarvisServer } from "./server";

let server: JarvisServer;

test.beforeAll(async () => {
  server = await JarvisServer.launch();
});

test.afterAll(async () => {
  await server?.dispose();
});

/** The nonce of a frame that is the client's ping (`ClientMessage::Ping`: `{"type":"ping",…}`). */
function pingNonce(payload: string | Buffer): number | null {
  if (typeof payload !== "string") return null;
  try {
    const message = JSON.parse(payload);
    return message?.type === "ping" ? Number(message.nonce) : null;
  } catch {
    return null;
  }
}

test("an idle page pings its socket at most twice in 45 seconds and stays connected", async ({ page }) => {
  test.setTimeout(90_000);
  const sockets: string[] = [];
  const pings: { nonce: number; at: number }[] = [];
  page.on("websocket", (socket) => {
    sockets.push(socket.url());
    socket.on("framesent", ({ payload }) => {
      const nonce = pingNonce(payload);
      if (nonce !== null) pings.push({ nonce, at: Date.now() });
    });
  });

  await signUp(page.request, server.baseUrl);
  await page.goto(`${server.baseUrl}/app`);
  const connected = page.getByRole("status").filter({ hasText: /^Online$/ });
  await expect(connected).toBeVisible();
  const idleFrom = Date.now();
  expect(pings.map((ping) => ping.nonce)).toEqual([1]);

  await page.waitForTimeout(45_000);

  // The ping that proved the socket (nonce 1) came before the badge said Online; what follows
  // is the heartbeat: one per 20 s of silence.
  const idlePings = pings.filter((ping) => ping.nonce !== 1 && ping.at >= idleFrom);
  expect(idlePings.length, `pings while idle: ${JSON.stringify(idlePings)}`).toBeLessThanOrEqual(2);
  expect(idlePings.length, "the heartbeat still keeps the idle socket alive").toBeGreaterThanOrEqual(1);
  expect(sockets, "the one socket was never replaced").toHaveLength(1);
  await expect(connected).toBeVisible();
});
