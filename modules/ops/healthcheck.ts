/**
 * `acu healthcheck`: GET /readyz of the acu on this machine, for container health checks (the images have
 * no curl). Ready is 200; anything else, or no answer within `timeoutMs`, is not.
 */
export async function healthcheck(url: string, timeoutMs = 2000): Promise<{ ok: boolean; message: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.text()).slice(0, 1000);
    return { ok: res.status === 200, message: `${url}: ${res.status} ${body}` };
  } catch (e) {
    return { ok: false, message: `${url}: no answer: ${(e as Error).message}` };
  }
}

/** Where `acu healthcheck` asks: the ops port when there is one, else the http port; a wildcard host as loopback. */
export function healthcheckUrl(cfg: { host: string; port: number; opsPort: number | null }): string {
  const host = cfg.host === "0.0.0.0" || cfg.host === "::" ? "127.0.0.1" : cfg.host.includes(":") ? `[${cfg.host}]` : cfg.host;
  return `http://${host}:${cfg.opsPort ?? cfg.port}/readyz`;
}
