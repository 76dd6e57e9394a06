// Starts and stops a real Jarvis server for the browser tests: the binary built by the test
// script, on a free port, against a fresh database of its own.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const serverBin = process.env.JARVIS_SERVER_BIN ?? "../target/debug/jarvis-server";
const fakeAnthropicBin = process.env.JARVIS_FAKE_ANTHROPIC_BIN ?? "../target/debug/fake-anthropic";
const fakeStripeBin = process.env.JARVIS_FAKE_STRIPE_BIN ?? "../target/debug/fake-stripe";
const fakeOpenAiChatBin = process.env.JARVIS_FAKE_OPENAI_CHAT_BIN ?? "../target/debug/fake-openai-chat";
const siteRoot = process.env.JARVIS_SITE_ROOT ?? "../target/site";
const adminUrl = process.env.DATABASE_URL ?? "postgres://jarvis:jarvis@127.0.0.1:5432/jarvis";
const appUrl = process.env.DATABASE_APP_URL ?? "postgres://jarvis_app:jarvis_app@127.0.0.1:5432/jarvis";

function databaseUrl(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

function psql(sql: string) {
  execFileSync("psql", [adminUrl, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], { stdio: "pipe" });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** The key the server sends the fake Anthropic API, which refuses any other (401), as the real
 * one does. */
const ANTHROPIC_KEY = "sk-ant-fake";

/** The project's fake of the Anthropic API, as a process; answers by keyword (see its source). */
async function startFakeAnthropic(): Promise<{ url: string; process: ChildProcess }> {
  return startFake(fakeAnthropicBin, { FAKE_ANTHROPIC_API_KEY: ANTHROPIC_KEY });
}

/** Starts one of the project's fakes; it prints its base URL as its first line. */
async function startFake(bin: string, env: Record<string, string> = {}): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(bin, [], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.stdout?.once("data", (chunk) => resolve(String(chunk).trim().split("\n")[0]));
  });
  return { url, process: child };
}

/** What a test may change about the server it launches. */
export interface LaunchOptions {
  /** Extra environment for the server process. */
  env?: Record<string, string>;
  /** Billing on, against the project's fake Stripe with these prices. */
  stripe?: { prices: { id: string; productName: string; unitAmount: number }[] };
  /** Two models in a JARVIS_MODELS_FILE: "Claude (fake)" on the fake Anthropic (the default,
   * images and PDFs) and "Local model" on the project's fake OpenAI-compatible server (text
   * only), which answers "Reply from <model name>." */
  models?: boolean;
}

/** The models file of `LaunchOptions.models`. */
function modelsFile(anthropicUrl: string, openAiUrl: string): unknown {
  return {
    models: [
      {
        id: "claude",
        display_name: "Claude (fake)",
        provider: "anthropic",
        base_url: anthropicUrl,
        api_key_env: "ANTHROPIC_API_KEY",
        model: "claude-sonnet-4-5",
        context_window: 200000,
        max_output_tokens: 8192,
        images: true,
        pdf: true,
        prices: { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 },
      },
      {
        id: "local",
        display_name: "Local model",
        provider: "openai",
        base_url: openAiUrl,
        api_key_env: "JARVIS_E2E_OPENAI_KEY",
        model: "llama-3.1-8b-instruct",
        context_window: 131072,
        max_output_tokens: 4096,
        images: false,
        pdf: false,
        prices: { input: 0, output: 0, cache_read: 0, cache_write: 0 },
      },
    ],
    default: "claude",
  };
}

/** The fake Stripe's webhook signing secret in the browser tests. */
const STRIPE_WEBHOOK_SECRET = "whsec_e2e_jarvis";

export class JarvisServer {
  readonly baseUrl: string;
  private child: ChildProcess | null = null;
  private logs: string[] = [];
  private fake: { url: string; process: ChildProcess } | null = null;
  private stripe: { url: string; process: ChildProcess } | null = null;
  private openAi: { url: string; process: ChildProcess } | null = null;
  private modelsDir: string | null = null;
  private env: Record<string, string> = {};

  private constructor(
    readonly port: number,
    readonly database: string,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
  }

  /** The fake Stripe's base URL (ends with a slash), when billing is on. */
  get stripeUrl(): string {
    if (!this.stripe) throw new Error("launched without Stripe");
    return this.stripe.url;
  }

  /** Creates a database and starts a server on a free port. */
  static async launch(options: LaunchOptions = {}): Promise<JarvisServer> {
    const database = `jarvis_e2e_${randomUUID().replaceAll("-", "")}`;
    psql(`CREATE DATABASE "${database}"`);
    const server = new JarvisServer(await freePort(), database);
    server.env = { ...(options.env ?? {}) };
    server.fake = await startFakeAnthropic();
    try {
      if (options.stripe) {
        server.stripe = await startFake(fakeStripeBin);
        for (const price of options.stripe.prices) {
          await server.stripeControl("POST", "_fake/prices", {
            id: price.id,
            product_name: price.productName,
            unit_amount: price.unitAmount,
          });
        }
        await server.stripeControl("POST", "_fake/webhook", {
          url: `${server.baseUrl}/webhooks/stripe`,
          secrets: [STRIPE_WEBHOOK_SECRET],
        });
        Object.assign(server.env, {
          STRIPE_SECRET_KEY: "sk_test_jarvis_fake",
          STRIPE_API_BASE: server.stripe.url,
          STRIPE_WEBHOOK_SECRET,
        });
      }
      if (options.models) {
        server.openAi = await startFake(fakeOpenAiChatBin);
        server.modelsDir = mkdtempSync(join(tmpdir(), "jarvis-e2e-models-"));
        const file = join(server.modelsDir, "models.json");
        writeFileSync(file, JSON.stringify(modelsFile(server.fake?.url ?? "", server.openAi.url)));
        Object.assign(server.env, { JARVIS_MODELS_FILE: file, JARVIS_E2E_OPENAI_KEY: "sk-fake-openai" });
      }
      await server.start();
    } catch (error) {
      // A server that does not start must not leave its fake model and database behind.
      await server.dispose();
      throw error;
    }
    return server;
  }

  /** Starts (or restarts) the server process on the same port and waits until it is ready. */
  async start(): Promise<void> {
    if (this.child) throw new Error("already running");
    const child = spawn(serverBin, [], {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl(adminUrl, this.database),
        DATABASE_APP_URL: databaseUrl(appUrl, this.database),
        JARVIS_JWT_SECRET: "end-to-end-test-secret-end-to-end-test-secret",
        JARVIS_SMTP_URL: process.env.JARVIS_TEST_SMTP_URL ?? "",
        JARVIS_OUTBOX_DIR: process.env.JARVIS_TEST_MAILDIR ?? "../target/test-mail",
        JARVIS_ADDR: `127.0.0.1:${this.port}`,
        JARVIS_METRICS_ADDR: "127.0.0.1:0",
        JARVIS_PUBLIC_URL: this.baseUrl,
        JARVIS_SITE_ROOT: siteRoot,
        JARVIS_SHUTDOWN_GRACE_SECS: "15",
        ...storageEnv(this.database),
        ANTHROPIC_BASE_URL: this.fake?.url ?? "",
        ANTHROPIC_API_KEY: ANTHROPIC_KEY,
        RUST_LOG: process.env.RUST_LOG ?? "info",
        ...this.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const echo = !!process.env.JARVIS_E2E_SERVER_LOG;
    child.stdout?.on("data", (chunk) => { this.logs.push(String(chunk)); if (echo) process.stdout.write(chunk); });
    child.stderr?.on("data", (chunk) => { this.logs.push(String(chunk)); if (echo) process.stderr.write(chunk); });
    this.child = child;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        throw new Error(`jarvis-server exited with ${child.exitCode}:\n${this.logs.join("")}`);
      }
      try {
        const response = await fetch(`${this.baseUrl}/readyz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`jarvis-server did not become ready:\n${this.logs.join("")}`);
  }

  /** Sends SIGTERM and waits for the process to exit; returns its exit code. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    this.child = null;
    if (child.exitCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    return exited;
  }

  /** Stops the server and drops its database. */
  async dispose(): Promise<void> {
    await this.stop();
    this.fake?.process.kill("SIGTERM");
    this.stripe?.process.kill("SIGTERM");
    this.openAi?.process.kill("SIGTERM");
    if (this.modelsDir) rmSync(this.modelsDir, { recursive: true, force: true });
    psql(`DROP DATABASE IF EXISTS "${this.database}" WITH (FORCE)`);
  }

  /** Calls one of the fake Stripe's test-control endpoints; returns the parsed JSON answer. */
  async stripeControl(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.stripeUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`fake Stripe ${method} ${path}: ${response.status} ${await response.text()}`);
    const text = await response.text();
    try {
      return text ? JSON.parse(text) : null;
    } catch {
      return text;
    }
  }

  output(): string {
    return this.logs.join("");
  }
}

/** Files go to the SeaweedFS that ./scripts/test starts, when there is one; else to a folder. */
function storageEnv(database: string): Record<string, string> {
  const s3 = process.env.JARVIS_TEST_S3_ENDPOINT;
  if (s3) {
    return {
      JARVIS_STORAGE: "s3",
      JARVIS_S3_ENDPOINT: s3,
      JARVIS_S3_BUCKET: process.env.JARVIS_TEST_S3_BUCKET ?? "",
      JARVIS_S3_ACCESS_KEY_ID: process.env.JARVIS_TEST_S3_ACCESS_KEY_ID ?? "",
      JARVIS_S3_SECRET_ACCESS_KEY: process.env.JARVIS_TEST_S3_SECRET_ACCESS_KEY ?? "",
    };
  }
  return { JARVIS_STORAGE: "local", JARVIS_STORAGE_DIR: `../target/e2e-objects/${database}` };
}
