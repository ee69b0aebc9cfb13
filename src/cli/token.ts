import { type JwtClaims, signJwt } from '../delivery/auth.js';
import { normalizeSymbol, SYMBOL_PATTERN } from '../protocol.js';
import { parseCommandArgs } from './args.js';
import { DURATION_FORMS, parseDuration } from './duration.js';

export const TOKEN_HELP = `tickstream token: mint an HS256 JWT for clients of a server with auth.jwtSecret

Usage: tickstream token --secret SECRET [--symbols AAPL,MSFT] [--ttl 1h] [--admin] [--sub NAME]

Options:
  --secret SECRET   the server's auth.jwtSecret, at least 32 characters (also TICKSTREAM_AUTH__JWT_SECRET)
  --symbols LIST    comma-separated symbols the token may subscribe to (default: all)
  --ttl DURATION    lifetime: ${DURATION_FORMS} (default 1h)
  --admin           the admin role: replay controls
  --sub NAME        who the token is for (shows in the server's logs)
  -h, --help        this help

Prints the token on stdout. Clients pass it as the handshake's auth: io(url, { auth: { token } }).`;

const TOKEN_FLAGS = {
  secret: { type: 'string' },
  symbols: { type: 'string' },
  ttl: { type: 'string' },
  admin: { type: 'boolean' },
  sub: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function tokenCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseCommandArgs(argv, TOKEN_FLAGS);
  if (values.help) {
    console.log(TOKEN_HELP);
    return 0;
  }
  const fail = (message: string) => {
    console.error(`tickstream token: ${message}\n(see tickstream token --help)`);
    return 2;
  };
  const secret = values.secret ?? env.TICKSTREAM_AUTH__JWT_SECRET;
  if (!secret) return fail('--secret: required (or TICKSTREAM_AUTH__JWT_SECRET)');
  if (secret.length < 32) return fail('--secret: at least 32 characters, as the server requires of auth.jwtSecret');
  // A JWT's exp is in whole seconds.
  const ttl = Math.round((parseDuration(values.ttl ?? '1h') ?? 0) / 1000);
  if (ttl < 1) return fail(`--ttl "${values.ttl}": expected a duration of 1s or more: ${DURATION_FORMS}`);
  const claims: JwtClaims = { exp: Math.floor(Date.now() / 1000) + ttl, iat: Math.floor(Date.now() / 1000) };
  if (values.symbols !== undefined) {
    const symbols = values.symbols.split(',').map(normalizeSymbol).filter(Boolean);
    const bad = symbols.filter((s) => !SYMBOL_PATTERN.test(s));
    if (!symbols.length || bad.length) return fail(`--symbols: not valid symbols: ${bad.join(', ') || '(none given)'}`);
    claims.symbols = [...new Set(symbols)];
  }
  if (values.admin) claims.role = 'admin';
  if (values.sub) claims.sub = values.sub;
  console.log(signJwt(claims, secret));
  return 0;
}
