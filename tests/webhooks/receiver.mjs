// A partner's webhook receiver, as the tests run it: it verifies every delivery with the
// standardwebhooks package and appends what it saw to a log, one JSON line per request.
//
// Environment: PORT, HOST (127.0.0.1), SECRET_FILE (read at each request: the secret is known
// only once the webhook exists), LOG (the JSON lines), FAIL_FIRST (answer 500 to the first N
// verified requests), DELAY_MS (wait before answering).
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const port = Number(process.env.PORT);
const host = process.env.HOST || "127.0.0.1";
const failFirst = Number(process.env.FAIL_FIRST || 0);
const delayMs = Number(process.env.DELAY_MS || 0);
const seen = new Map();
let verifiedCount = 0;

function record(entry) {
  appendFileSync(process.env.LOG, JSON.stringify(entry) + "\n");
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const id = req.headers["webhook-id"] || "";
    const n = (seen.get(id) || 0) + 1;
    seen.set(id, n);
    const entry = {
      id, n, method: req.method, path: req.url, received_at: Date.now() / 1000,
      timestamp: req.headers["webhook-timestamp"] || null,
      signature: req.headers["webhook-signature"] || null,
      content_type: req.headers["content-type"] || null,
      verified: false, error: null, body: null, status: 0,
    };
    let status = 204;
    if (!existsSync(process.env.SECRET_FILE)) {
      entry.error = "no secret yet";
      status = 503;
    } else {
      try {
        const secret = readFileSync(process.env.SECRET_FILE, "utf8").trim();
        entry.body = new Webhook(secret).verify(body, req.headers);
        entry.verified = true;
        verifiedCount += 1;
        if (verifiedCount <= failFirst) status = 500;
      } catch (e) {
        entry.error = String(e && e.message ? e.message : e);
        status = 401;
      }
    }
    entry.status = status;
    setTimeout(() => {
      record(entry);
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status === 204 ? "" : "no");
    }, delayMs);
  });
});

server.listen(port, host, () => {
  process.stdout.write(`listening on ${host}:${port}\n`);
});
