import { afterAll, beforeAll, expect, test } from "bun:test";
import { authedWebSocket, cleanup, eventually, postReports, startAcu, tempDir, TOKENS, type AcuProcess } from "./support/acu.ts";

/**
 * A client of the alert stream that stops reading is dropped (close 1013), not buffered without bound,
 * and the other clients keep their feed. The slow client is a raw socket in a Python process with a tiny
 * receive buffer that reads nothing until told to: Bun's own clients always read.
 */
let dir: string;
let acu: AcuProcess;

beforeAll(async () => {
  dir = tempDir("slow-client");
  // Every report alerts (threshold 100), no rate limit: the feed outruns a client that does not read.
  acu = await startAcu({ dataDir: dir, env: { ACU_DEFAULT_THRESHOLD: "100", ACU_INGEST_RATE_LIMIT: "0", ACU_INGEST_STUDENT_RATE_LIMIT: "0" } });
}, 90_000);
afterAll(async () => {
  await acu?.stop();
  cleanup(dir);
});

const SLOW_CLIENT = String.raw`
import base64, os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /api/alerts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n" % (key, sys.argv[2])).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
print(head.split(b"\r\n")[0].decode(), flush=True)
sys.stdin.readline()  # reads nothing from the socket until the test says so
s.settimeout(30)
data, reset = b"", 0
while True:
    try:
        chunk = s.recv(1 << 20)
    except ConnectionResetError:
        reset = 1  # reported, for a failure's message: the close frame never came
        break
    if not chunk:
        break
    data += chunk
# Walk the frames (server frames are not masked) to the close frame.
i, frames, code = 0, 0, None
while i + 2 <= len(data):
    op, n = data[i] & 0x0F, data[i + 1] & 0x7F
    j = i + 2
    if n == 126: n, j = struct.unpack(">H", data[j:j + 2])[0], j + 2
    elif n == 127: n, j = struct.unpack(">Q", data[j:j + 8])[0], j + 8
    if op == 8 and n >= 2: code = struct.unpack(">H", data[j:j + 2])[0]
    frames, i = frames + 1, j + n
print("frames=%d bytes=%d close=%s reset=%d" % (frames, len(data), code, reset), flush=True)
`;

test("a stream client that stops reading is closed with 1013 once 4 MiB wait for it; other clients get every alert", async () => {
  const slow = Bun.spawn({ cmd: ["python3", "-c", SLOW_CLIENT, String(acu.port), TOKENS.viewer], stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const reader = (slow.stdout as ReadableStream<Uint8Array>).getReader();
  // One line of the client's output, however the pipe splits it.
  let pending = "";
  const line = async (): Promise<string> => {
    for (;;) {
      const nl = pending.indexOf("\n");
      if (nl >= 0) {
        const l = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        return l;
      }
      const { value, done } = await reader.read();
      if (done) return pending;
      pending += new TextDecoder().decode(value);
    }
  };
  expect(await line()).toContain("101");

  let received = 0;
  const healthy = authedWebSocket(`${acu.url.replace("http", "ws")}/api/alerts/stream`);
  healthy.onmessage = (m) => {
    if (JSON.parse(String(m.data)).type === "alert") received++;
  };
  await new Promise((r) => (healthy.onopen = r));

  // ~40,000 alerts of ~400 bytes: well past the 4 MiB bound plus what the kernel buffers for the socket.
  const reports = 40_000;
  for (let b = 0; b < reports / 1000; b++) {
    const batch = Array.from({ length: 1000 }, (_, i) => ({
      studentId: `slow-${b}-${i}`,
      exerciseId: "slow.ex",
      score: 10,
      latitude: 48.85,
      longitude: 2.35,
      timestamp: Date.now(),
    }));
    expect((await postReports(acu.url, batch)).status).toBe(202);
  }
  await eventually("every alert on the healthy client", async () => received >= reports, 120_000);
  expect(received).toBe(reports);
  expect(acu.output()).toMatch(/alert stream client of token \S+ too slow \(\d+ bytes unsent\); closed with 1013/);
  expect(acu.output().match(/too slow/g)?.length).toBe(1);

  slow.stdin.write("read\n");
  await slow.stdin.flush();
  const summary = await line();
  await slow.exited;
  const stderr = await new Response(slow.stderr as ReadableStream<Uint8Array>).text();
  // The slow client got what was buffered for it, then the close frame: 1013, and fewer alerts than sent.
  console.log(`slow client: ${summary.trim()}`);
  const m = /frames=(\d+) bytes=(\d+) close=(\d+|None) reset=(\d)/.exec(summary);
  expect(m, `slow client said ${JSON.stringify(summary)}; stderr: ${stderr}`).not.toBeNull();
  expect(m![3]).toBe("1013");
  expect(Number(m![1])).toBeLessThan(reports);
  healthy.close();
}, 180_000);
