// A few JetStream API calls for bench/run.sh, over the plain NATS protocol (node's net module,
// no client library, no credentials: the benchmark only talks to a local trust-auth server).
//   node bench/nats.mjs probe  nats://127.0.0.1:4222          exit 0 if JetStream answers
//   node bench/nats.mjs info   nats://127.0.0.1:4222 STREAM   prints the stream's message count
//   node bench/nats.mjs delete nats://127.0.0.1:4222 STREAM   deletes the stream
// Each call gives up after 5 s and exits 1 with the reason on stderr.
import net from "node:net";
import { randomBytes } from "node:crypto";

const [command, url, stream] = process.argv.slice(2);
const { hostname, port } = new URL(url ?? "");
if (!["127.0.0.1", "localhost", "[::1]"].includes(hostname)) fail(`not a loopback NATS URL: ${url}`);

function fail(reason) {
  console.error(`nats.mjs: ${reason}`);
  process.exit(1);
}
setTimeout(() => fail("no answer within 5 s"), 5000).unref();

// Sends one request to a JetStream API subject and resolves with the parsed JSON reply.
function request(subject, body = "") {
  return new Promise((resolve, reject) => {
    const inbox = `_INBOX.bench_${randomBytes(8).toString("hex")}`;
    const socket = net.connect(Number(port || 4222), hostname.replace(/^\[|\]$/g, ""));
    let buffer = Buffer.alloc(0);
    let sent = false;
    socket.on("error", reject);
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const eol = buffer.indexOf("\r\n");
        if (eol < 0) return;
        const line = buffer.subarray(0, eol).toString();
        const [op, ...args] = line.split(" ");
        if (op === "INFO" && !sent) {
          sent = true;
          const payload = Buffer.from(body);
          socket.write(
            `CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1,"name":"authlog-bench"}\r\n` +
              `SUB ${inbox} 1\r\nPUB ${subject} ${inbox} ${payload.length}\r\n`,
          );
          socket.write(Buffer.concat([payload, Buffer.from("\r\n")]));
        } else if (op === "PING") {
          socket.write("PONG\r\n");
        } else if (op === "-ERR") {
          socket.destroy();
          return reject(new Error(line));
        } else if (op === "MSG" || op === "HMSG") {
          // MSG subject sid [reply] size | HMSG subject sid [reply] header-size total-size
          const total = Number(args.at(-1));
          const headerSize = op === "HMSG" ? Number(args.at(-2)) : 0;
          if (buffer.length < eol + 2 + total + 2) return; // wait for the whole message
          const message = buffer.subarray(eol + 2, eol + 2 + total);
          socket.destroy();
          const headers = message.subarray(0, headerSize).toString();
          if (/^NATS\/1\.0 503/.test(headers)) return reject(new Error("no responders (is JetStream enabled?)"));
          try {
            return resolve(JSON.parse(message.subarray(headerSize).toString()));
          } catch (error) {
            return reject(error);
          }
        }
        buffer = buffer.subarray(eol + 2);
      }
    });
  });
}

try {
  if (command === "probe") {
    // A stream that does not exist: "not found" is an answer from JetStream.
    const reply = await request("$JS.API.STREAM.INFO.AUTHLOG_BENCH_PROBE");
    if (!reply.type?.startsWith("io.nats.jetstream.api.")) fail(`unexpected reply ${JSON.stringify(reply)}`);
  } else if (command === "info" && stream) {
    const reply = await request(`$JS.API.STREAM.INFO.${stream}`);
    if (reply.error) fail(`stream ${stream}: ${reply.error.description}`);
    console.log(reply.state.messages);
  } else if (command === "delete" && stream) {
    const reply = await request(`$JS.API.STREAM.DELETE.${stream}`);
    if (!reply.success) fail(`deleting ${stream}: ${reply.error?.description ?? JSON.stringify(reply)}`);
  } else {
    fail("usage: nats.mjs probe URL | info URL STREAM | delete URL STREAM");
  }
} catch (error) {
  fail(error.message);
}
process.exit(0);
