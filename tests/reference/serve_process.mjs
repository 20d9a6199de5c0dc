// Starting and stopping `infer-engine serve` from node, for the server tests
// (server_openai.mjs) and the benchmark client (serve_bench.mjs).
//
//   const server = await startServer(bin, ["--model", dir]);   // 127.0.0.1, ephemeral port
//   ... server.url ("http://127.0.0.1:PORT"), server.port ...
//   const code = await server.stop();                           // SIGTERM by pid, waits; exit code
//
// The server always listens on 127.0.0.1 with --port 0; its first stdout
// line says which port it got. Only the process started here is signalled,
// by its pid.
import { spawn } from "node:child_process";

export async function startServer(bin, args, { timeoutMs = 120000 } = {}) {
  const child = spawn(bin, ["serve", "--host", "127.0.0.1", "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? `signal ${signal}`)));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "serving" line after ${timeoutMs} ms; stderr:\n${stderr}`)),
                             timeoutMs);
    child.stdout.on("data", (d) => {
      stdout += d;
      const m = stdout.match(/serving '.*' on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`infer-engine serve exited (${code}) before listening; stderr:\n${stderr}`));
    });
  });
  let stopped = null;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stderr: () => stderr,
    // SIGTERM, then SIGKILL if it has not exited after `graceMs`. Returns the exit code.
    stop(graceMs = 10000) {
      if (stopped) return stopped;
      stopped = (async () => {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGTERM");
        const timer = setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
        }, graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })();
      return stopped;
    },
  };
}
