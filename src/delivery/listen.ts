import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../config/load.js';

/** The settings a listener's address comes from, named when the address cannot be taken. */
export type ListenSettings = { port: string; host: string };

/** The main listener's settings (HTTP routes, Socket.IO, the ingest's health). */
export const MAIN_LISTENER: ListenSettings = { port: 'server.port', host: 'server.host' };

/** The URL clients use for a server listening on `host` (a wildcard address is shown as localhost). */
function listeningAt(http: HttpServer, host: string): { url: string; port: number } {
  const port = (http.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return { url: `http://${shown}:${port}`, port };
}

/**
 * Listens on `port` and `host`; resolves with the URL clients use. An address the machine refuses is the
 * configuration's fault, so it fails as a ConfigError naming the setting (start-up stops with it, exit 2).
 */
export async function listen(
  http: HttpServer,
  port: number,
  host: string,
  settings: ListenSettings,
): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    const refused = (err: Error) => reject(listenError(err, `${host}:${port}`, settings));
    http.once('error', refused);
    http.listen(port, host, () => {
      http.off('error', refused);
      resolve();
    });
  });
  return listeningAt(http, host);
}

/** Why an address cannot be taken, by error code, and which of the two settings to change. */
const REFUSALS: Record<string, { setting: keyof ListenSettings; why: string }> = {
  EADDRINUSE: { setting: 'port', why: 'is in use by another process' },
  EACCES: { setting: 'port', why: 'needs privileges this process does not have' },
  EADDRNOTAVAIL: { setting: 'host', why: 'is not an address of this machine' },
  ENOTFOUND: { setting: 'host', why: 'names no host this machine can resolve' },
};

function listenError(err: Error, address: string, settings: ListenSettings): Error {
  const code = 'code' in err ? String(err.code) : '';
  const refusal = REFUSALS[code];
  if (!refusal) return err;
  return new ConfigError(`${settings[refusal.setting]}: ${address} ${refusal.why} (${code})`);
}
