// A fake of OpenAI's speech-to-text endpoint for the browser tests: `POST /v1/audio/transcriptions`,
// multipart with `file` and `model` (as the Jarvis server's `openai` engine sends them). It
// answers `{"text": …}` with the next of the transcripts it was given (the last one again once
// they run out), refuses a request without a non-empty `file` or a `model` with OpenAI's 400,
// and records every upload so that a test can check what the browser recorded.
import { IncomingMessage, Server, ServerResponse, createServer } from "node:http";
import { AddressInfo } from "node:net";

/** One upload the fake received. */
export interface Upload {
  fileName: string;
  contentType: string;
  bytes: number;
  model: string;
}

interface Part {
  name: string;
  fileName?: string;
  contentType?: string;
  body: Buffer;
}

/** The parts of a multipart/form-data body. */
function parseMultipart(body: Buffer, contentType: string): Part[] {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) return [];
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    // Each part: CRLF, headers, CRLF CRLF, content, CRLF.
    const chunk = body.subarray(start + delimiter.length + 2, next - 2);
    const split = chunk.indexOf("\r\n\r\n");
    if (split !== -1) {
      const headers = chunk.subarray(0, split).toString("utf8");
      const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? "";
      const name = /\bname="([^"]*)"/.exec(disposition)?.[1];
      if (name) {
        parts.push({
          name,
          fileName: /filename="([^"]*)"/.exec(disposition)?.[1],
          contentType: /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1],
          body: chunk.subarray(split + 4),
        });
      }
    }
    start = next;
  }
  return parts;
}

function json(response: ServerResponse, status: number, value: unknown) {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(value));
}

export class FakeStt {
  readonly uploads: Upload[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly transcripts: string[],
  ) {}

  /** Starts on a free port; answers `transcripts` in turn. `url` ends with a slash. */
  static async start(transcripts: string[]): Promise<FakeStt> {
    let fake: FakeStt | null = null;
    const server = createServer((request, response) => fake?.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    fake = new FakeStt(server, `http://127.0.0.1:${port}/`, [...transcripts]);
    return fake;
  }

  private handle(request: IncomingMessage, response: ServerResponse) {
    if (request.method !== "POST" || !request.url?.endsWith("/v1/audio/transcriptions")) {
      json(response, 404, { error: { message: "Not found.", type: "invalid_request_error" } });
      return;
    }
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const parts = parseMultipart(Buffer.concat(chunks), request.headers["content-type"] ?? "");
      const file = parts.find((part) => part.name === "file");
      const model = parts.find((part) => part.name === "model")?.body.toString("utf8") ?? "";
      if (!file || file.body.length === 0 || !model) {
        json(response, 400, {
          error: { message: "A non-empty file and a model are required.", type: "invalid_request_error", param: "file" },
        });
        return;
      }
      this.uploads.push({
        fileName: file.fileName ?? "",
        contentType: file.contentType ?? "",
        bytes: file.body.length,
        model,
      });
      const text = this.transcripts.length > 1 ? this.transcripts.shift()! : (this.transcripts[0] ?? "");
      json(response, 200, { text });
    });
  }

  /** From now on, answers `transcripts` in turn (the last one again once they run out). */
  answer(...transcripts: string[]) {
    this.transcripts.splice(0, this.transcripts.length, ...transcripts);
  }

  /** The environment that points a Jarvis server's speech input at this fake. */
  serverEnv(): Record<string, string> {
    return { JARVIS_STT_ENGINE: "openai", JARVIS_STT_BASE_URL: this.url, JARVIS_STT_API_KEY: "sk-fake-stt" };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
