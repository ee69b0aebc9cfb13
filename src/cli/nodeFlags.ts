/**
 * The V8 flags tickstream's server processes run with (`npm start`, the bin's shebang, the cluster script,
 * the benchmark's servers). A 64 MB young generation lets a fan-out's short-lived frames die young instead
 * of being promoted to the old generation while their writes are in flight: at 5,000 sockets in
 * `npm run bench` server CPU went from 81-92% to 62-68% and frame lag p99 from 84-104 ms to 57-65 ms. It
 * cannot be set once V8 has started, so it is on the command line (also in package.json and bin/tickstream.js).
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
