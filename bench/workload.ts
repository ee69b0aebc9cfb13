import { seededRandom } from '../src/feeds/random.js';
import { listings } from '../src/feeds/universe.js';

/**
 * Each socket's symbols: `perSocket` distinct symbols drawn at random (seeded) from the universe, so
 * subscription sets rarely repeat: the harder case for a server that could share frames between sockets.
 */
export function socketSubscriptions(sockets: number, perSocket: number, universe: number, seed: number): string[][] {
  const symbols = listings(universe).map((l) => l.symbol);
  const random = seededRandom(seed);
  const take = Math.min(perSocket, symbols.length);
  return Array.from({ length: sockets }, () => {
    const chosen = new Set<string>();
    while (chosen.size < take) chosen.add(symbols[Math.floor(random.next() * symbols.length)] as string);
    return [...chosen];
  });
}
