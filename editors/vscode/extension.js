// The kaohe extension: the grammar (package.json) and the language server, `kaohe lsp` on stdio.
//
// Kept to one file of plain JavaScript so it runs without a build step; vscode-languageclient is
// its one dependency (npm install). The server command is a setting (kaohe.server.command/args),
// so a project's virtual environment can be used: ".venv/bin/kaohe" or "python -m kaohe_rules lsp".
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function serverOptions(config) {
  const command = config.get("server.command", "kaohe");
  const args = config.get("server.args", ["lsp"]);
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  const options = folder ? { cwd: folder.uri.fsPath } : {};
  return { run: { command, args, options }, debug: { command, args, options } };
}

async function start() {
  const config = vscode.workspace.getConfiguration("kaohe");
  if (!config.get("server.enabled", true)) {
    return;
  }
  client = new LanguageClient("kaohe", "kaohe language server", serverOptions(config), {
    documentSelector: [
      { scheme: "file", language: "kaohe" },
      { scheme: "untitled", language: "kaohe" },
    ],
  });
  try {
    await client.start();
  } catch (err) {
    const command = config.get("server.command", "kaohe");
    vscode.window.showErrorMessage(
      `kaohe: could not start the language server with '${command}' (${err.message || err}). ` +
        "Install it with pip install 'kaohe_rules[lsp]', or set kaohe.server.command.",
    );
    client = undefined;
  }
}

async function stop() {
  if (client) {
    const running = client;
    client = undefined;
    await running.stop();
  }
}

function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("kaohe.server")) {
        await stop();
        await start();
      }
    }),
    vscode.commands.registerCommand("kaohe.restartServer", async () => {
      await stop();
      await start();
    }),
  );
  return start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
