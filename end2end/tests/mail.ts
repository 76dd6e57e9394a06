// Reads the mail Jarvis sent during a test from the SMTP peer's maildir (or the outbox folder).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const mailDir = process.env.JARVIS_TEST_MAILDIR ?? "../target/test-mail";

// A maildir's `tmp/` holds mails still being written, then moved to `new/`: never read them,
// and a file that moves or goes between listing and reading is simply looked for again.
function files(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    if (name === "tmp") return [];
    const path = join(dir, name);
    try {
      return statSync(path).isDirectory() ? files(path) : [path];
    } catch {
      return [];
    }
  });
}

function read(path: string): { path: string; text: string; at: number } | null {
  try {
    return { path, text: readFileSync(path, "utf8"), at: statSync(path).mtimeMs };
  } catch {
    return null;
  }
}

/** Undoes quoted-printable transfer encoding (soft line breaks, `=XX` escapes). */
export function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i], "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The newest mail to `to`, waiting up to 10 s for it. */
export async function mailTo(to: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const mails = files(mailDir)
      .map(read)
      .filter((mail): mail is { path: string; text: string; at: number } => mail !== null)
      .filter(({ text }) => text.split(/\r?\n/).some((line) => /^to:/i.test(line) && line.toLowerCase().includes(to)))
      .sort((a, b) => a.at - b.at);
    if (mails.length > 0) return decodeQuotedPrintable(mails[mails.length - 1].text);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no mail to ${to} in ${mailDir}`);
}

/** The first link with the given path in the newest mail to `to`. */
export async function linkInMail(to: string, path: string): Promise<string> {
  const mail = await mailTo(to);
  for (const word of mail.split(/\s+/)) {
    if (!word.startsWith("http")) continue;
    const url = new URL(word);
    if (url.pathname === path) return url.toString();
  }
  throw new Error(`no ${path} link in:\n${mail}`);
}
