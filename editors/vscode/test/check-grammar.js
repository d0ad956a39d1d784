// On-demand check of the TextMate grammar with VS Code's own engine (vscode-textmate + Oniguruma).
//
//   cd editors/vscode && npm install && node test/check-grammar.js FILE.kh ... > tokens.json
//   node test/check-grammar.js --markdown FILE.md ...   (```kaohe blocks, through the injection grammar)
//
// Prints {"FILE": [[scope, text], ...]} — every token that is not blank, with its innermost scope
// ("source.kaohe" when no pattern matched it). With --markdown the root is a stand-in Markdown
// grammar (no patterns of its own, scope text.html.markdown) into which
// syntaxes/kaohe.markdown.tmLanguage.json is injected, as VS Code injects it into its own. tests/project/test_highlight.py runs it on every
// policy of the repository when node_modules is present (never in CI: CI does not need node) and
// compares the classes with the Pygments lexer's.
"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const wasm = fs.readFileSync(path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm")).buffer;
const onigLib = oniguruma.loadWASM(wasm).then(() => ({
  createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
  createOnigString: (s) => new oniguruma.OnigString(s),
}));

const GRAMMARS = {
  "source.kaohe": "kaohe.tmLanguage.json",
  "markdown.kaohe.codeblock": "kaohe.markdown.tmLanguage.json",
};
const STANDIN_MARKDOWN = JSON.stringify({ scopeName: "text.html.markdown", patterns: [] });

const registry = new vsctm.Registry({
  onigLib,
  loadGrammar: async (scopeName) => {
    if (scopeName === "text.html.markdown") {
      return vsctm.parseRawGrammar(STANDIN_MARKDOWN, "markdown.json");
    }
    if (!GRAMMARS[scopeName]) {
      return null;
    }
    const file = path.join(__dirname, "..", "syntaxes", GRAMMARS[scopeName]);
    return vsctm.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
  },
  getInjections: (scopeName) => (scopeName === "text.html.markdown" ? ["markdown.kaohe.codeblock"] : undefined),
});

async function main() {
  const args = process.argv.slice(2);
  const markdown = args[0] === "--markdown";
  const grammar = await registry.loadGrammar(markdown ? "text.html.markdown" : "source.kaohe");
  const out = {};
  for (const file of markdown ? args.slice(1) : args) {
    const tokens = [];
    let stack = vsctm.INITIAL;
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      const text = line.endsWith("\r") ? line.slice(0, -1) : line;
      const result = grammar.tokenizeLine(text, stack);
      for (const token of result.tokens) {
        const value = text.slice(token.startIndex, token.endIndex);
        if (value.trim()) {
          tokens.push([token.scopes[token.scopes.length - 1], value]);
        }
      }
      stack = result.ruleStack;
    }
    out[file] = tokens;
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
