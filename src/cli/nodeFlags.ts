/**
 * The V8 flags tickstream's server processes run with (`npm start`, the bin's shebang, the cluster script,
 * the benchmark's servers). A 64 MB young generation lets a fan-out's short-lived frames die young instead
 * of being promoted to the old generation while their writes are in flight: at 5,000 sockets in
 * `npm run bench` server CPU went from 81-92% to 62-68% and frame lag p99 from 84-104 ms to 57-65 ms. It
 * cannot be set once V8 has started, so it is on the command line (also in package.json and bin/tickstream.js).
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/**
 * The V8 flags `tickstream replay` runs with: a small young generation (8 MB). A replay serves few clients
 * and must keep its recorded pace: what the pipeline keeps across a scavenge is promoted, and a scavenge's
 * pause grows with it, so smaller, more frequent scavenges keep quotes on time (in bench/replayPacing.ts on a
 * full day at 10x, machine load about 1: pacing p99 4.9 ms at 8 MB, 5.9 ms at 16 MB, 6.4-8.0 ms at 64 MB).
 * The replay command starts itself again with them when it was started without (see relaunch.ts).
 */
export const REPLAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
