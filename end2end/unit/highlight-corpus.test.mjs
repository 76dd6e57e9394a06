// The code highlighter the browser loads (public/highlight/, see app/src/highlight.rs), on a
// corpus of languages: each case names a piece of the source and what it must (or must not) be.
// Run with `node --test end2end/unit/highlight-corpus.test.mjs`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { readdirSync } from "node:fs";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const vendored = path.join(here, "../../public/highlight");
const script = readdirSync(vendored).find((name) => /^highlight-[\d.]+\.min\.js$/.test(name));
const hljs = createRequire(import.meta.url)(path.join(vendored, script));

/** The highlighted text, one entry per character: the char and the token classes around it. */
function tokens(language, code) {
  assert.ok(hljs.getLanguage(language), `highlight.js knows ${language}`);
  const html = hljs.highlight(code, { language, ignoreIllegals: true }).value;
  const entities = { "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#x27;": "'" };
  const out = [];
  const stack = [];
  for (let i = 0; i < html.length; ) {
    const open = /^<span class="([^"]*)">/.exec(html.slice(i, i + 200));
    if (open) {
      stack.push(open[1]);
      i += open[0].length;
    } else if (html.startsWith("</span>", i)) {
      stack.pop();
      i += "</span>".length;
    } else {
      const entity = Object.keys(entities).find((e) => html.startsWith(e, i));
      out.push({ char: entity ? entities[entity] : html[i], classes: stack.join(" ").split(" ") });
      i += entity ? entity.length : 1;
    }
  }
  const text = out.map((t) => t.char).join("");
  assert.equal(text, code, "highlighting keeps the text exactly");
  return out;
}

/** The characters of the `nth` occurrence of `needle` in `code`. */
function at(highlighted, code, needle, nth = 0) {
  let from = -1;
  for (let k = 0; k <= nth; k++) {
    from = code.indexOf(needle, from + 1);
    assert.notEqual(from, -1, `${JSON.stringify(needle)} occurs in the source`);
  }
  return { from, chars: highlighted.slice(from, from + needle.length) };
}

const has = (t, kind) => t.classes.some((c) => c === `hljs-${kind}`);

/** Every character of `needle` is inside a token of `kind`. */
function all(language, code, needle, kind) {
  const { chars } = at(tokens(language, code), code, needle);
  assert.ok(chars.every((t) => has(t, kind)), `${language}: ${JSON.stringify(needle)} is all ${kind}`);
}

/** No character of `needle` is inside a token of `kind`. */
function none(language, code, needle, kind) {
  const { chars } = at(tokens(language, code), code, needle);
  assert.ok(!chars.some((t) => has(t, kind)), `${language}: ${JSON.stringify(needle)} has no ${kind}`);
}

/** `literal` is a string that starts and ends exactly there: the characters around it are not. */
function exactString(language, code, literal) {
  const highlighted = tokens(language, code);
  const { from, chars } = at(highlighted, code, literal);
  const name = `${language}: ${JSON.stringify(literal)}`;
  assert.ok(chars.every((t) => has(t, "string")), `${name} is a string`);
  const before = highlighted[from - 1];
  const after = highlighted[from + literal.length];
  assert.ok(!before || !has(before, "string"), `${name} starts where it should`);
  assert.ok(!after || !has(after, "string"), `${name} ends where it should`);
}

test("Rust: lifetimes are not strings, block and doc comments are comments", () => {
  const code = [
    "/// Doc comment for `f`.",
    "fn f<'a>(x: &'a str) -> &'a str {",
    "    /* a block",
    "       comment */ let n = 1;",
    "    let q = '\\'';",
    '    let s = "say \\"hi\\" // not a comment";',
    "    x // tail",
    "}",
  ].join("\n");
  none("rust", code, "'a>(x: &'a str) -> &'a str {", "string");
  all("rust", code, "'a", "symbol");
  all("rust", code, "/// Doc comment for `f`.", "comment");
  all("rust", code, "/* a block\n       comment */", "comment");
  none("rust", code, "let n = 1;", "comment");
  exactString("rust", code, "'\\''");
  exactString("rust", code, '"say \\"hi\\" // not a comment"');
  all("rust", code, "// tail", "comment");
  all("rust", code, "fn", "keyword");
});

test("Python: # starts a comment, // is floor division, triple quotes span lines", () => {
  const code = ['s = "a \\" b"  # note', "half = 7 // 2", '"""doc', 'string"""', "x = 'it\\'s'"].join("\n");
  exactString("python", code, '"a \\" b"');
  all("python", code, "# note", "comment");
  none("python", code, "7 // 2", "comment");
  all("python", code, '"""doc\nstring"""', "string");
  exactString("python", code, "'it\\'s'");
});

test("JavaScript and TypeScript: i-- is code, URLs in strings are not comments", () => {
  const js = ['for (let i = 9; i > 0; i--) { /* multi', "line */ }", 'const url = "http://x.example/a"; // c', "const t = `a ${b} c`;"].join("\n");
  none("javascript", js, "i--", "comment");
  all("javascript", js, "/* multi\nline */", "comment");
  exactString("javascript", js, '"http://x.example/a"');
  all("javascript", js, "// c", "comment");
  none("javascript", js, "}", "comment");
  const ts = "function id<T>(x: T): T { let n: number = x--; return x; } // end";
  none("typescript", ts, "x--; return x;", "comment");
  all("typescript", ts, "// end", "comment");
  all("typescript", ts, "function", "keyword");
});

test("C: i-- and the preprocessor are not comments; block comments span lines", () => {
  const code = ["#include <stdio.h>", "/* one", "   two */", 'int main(void) { for (int i = 3; i > 0; i--) puts("a \\" b"); }'].join("\n");
  none("c", code, "#include <stdio.h>", "comment");
  all("c", code, "#include", "meta");
  all("c", code, "/* one\n   two */", "comment");
  none("c", code, "i--) puts(", "comment");
  exactString("c", code, '"a \\" b"');
  none("cpp", "int x = y--; // c", "y--;", "comment");
});

test("Go: raw strings keep // inside, i-- is code", () => {
  const code = ["s := `raw // not a comment`", "i--", "// real comment"].join("\n");
  exactString("go", code, "`raw // not a comment`");
  none("go", code, "i--", "comment");
  all("go", code, "// real comment", "comment");
});

test("Java: Javadoc is a comment, a quote in a char is not a string opener", () => {
  const code = ["/** Docs.", " * @param x the x */", "char c = '\"'; String s = \"a\\\"b\"; i--;"].join("\n");
  all("java", code, "/** Docs.\n * @param x the x */", "comment");
  exactString("java", code, '"a\\"b"');
  none("java", code, "i--;", "comment");
});

test("SQL: -- is a comment there, and '' escapes a quote", () => {
  const code = ["SELECT 'it''s' AS s -- why", "FROM t /* a", "b */ WHERE n = 1"].join("\n");
  all("sql", code, "-- why", "comment");
  exactString("sql", code, "'it''s'");
  all("sql", code, "/* a\nb */", "comment");
  none("sql", code, "WHERE n = 1", "comment");
  all("sql", code, "SELECT", "keyword");
});

test("Bash: --release is an option, # starts a comment only as a word", () => {
  const code = ["cargo build --release # build it", 'echo "a \\"b\\" # not a comment" ${#list[@]}'].join("\n");
  none("bash", code, "cargo build --release", "comment");
  all("bash", code, "# build it", "comment");
  exactString("bash", code, '"a \\"b\\" # not a comment"');
  none("bash", code, "${#list[@]}", "comment");
});

test("HTML: comments, attributes and embedded script", () => {
  const code = ['<!-- a', "note -->", '<a href="/x?a=1&amp;b">link</a>', "<script>for (;;) i--;</script>"].join("\n");
  all("xml", code, "<!-- a\nnote -->", "comment");
  exactString("xml", code, '"/x?a=1&amp;b"');
  none("xml", code, "link", "string");
  none("xml", code, "i--;", "comment");
  all("xml", code, "href", "attr");
  all("xml", code, "script", "name");
});

test("CSS: custom properties with -- are not comments", () => {
  const code = [":root { --gap: 4px; } /* a", "b */", '.a::before { content: "x;y"; margin: var(--gap); }'].join("\n");
  none("css", code, "--gap: 4px;", "comment");
  all("css", code, "/* a\nb */", "comment");
  exactString("css", code, '"x;y"');
});

test("JSON: escaped quotes end strings where they should, numbers are numbers", () => {
  const code = '{"a": "b \\" c", "n": -1.5e3, "ok": true}';
  exactString("json", code, '"b \\" c"');
  all("json", code, "-1.5e3", "number");
  all("json", code, "true", "literal");
});

test("YAML: # after a space is a comment, inside quotes it is not", () => {
  const code = ['url: "http://x.example/#top" # where', "list:", "  - item"].join("\n");
  exactString("yaml", code, '"http://x.example/#top"');
  all("yaml", code, "# where", "comment");
  all("yaml", code, "url", "attr");
});

test("Lua and TOML: their own comment syntax", () => {
  all("lua", "x = 1 -- a comment", "-- a comment", "comment");
  none("lua", "x = 1 -- a comment", "x = 1", "comment");
  all("toml", '[dep]\nv = "1" # pinned', "# pinned", "comment");
  exactString("toml", '[dep]\nv = "1" # pinned', '"1"');
});

test("the fence words models use name a grammar", () => {
  // As app/src/highlight.rs passes them: its class name, `shell` already mapped to bash.
  for (const word of ["rust", "rs", "python", "py", "js", "javascript", "ts", "typescript", "tsx", "c", "cpp", "c++", "Csharp", "go", "java", "kotlin", "sql", "bash", "sh", "zsh", "html", "xml", "css", "scss", "json", "yaml", "yml", "toml", "ini", "diff", "markdown", "md", "php", "ruby", "swift", "lua", "makefile"]) {
    assert.ok(hljs.getLanguage(word), `a grammar for ${word}`);
  }
});
