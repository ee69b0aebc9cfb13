/**
 * Well-known symbols a first visit of the dashboard starts with. Its own module (no DOM) so that the
 * benchmark's realistic workload subscribes to the very list the dashboard does.
 */
export const DEFAULT_SYMBOLS: readonly string[] = [
  'AAPL',
  'MSFT',
  'NVDA',
  'AMZN',
  'GOOGL',
  'META',
  'TSLA',
  'BRK.B',
  'JPM',
  'V',
  'SPY',
  'QQQ',
];
