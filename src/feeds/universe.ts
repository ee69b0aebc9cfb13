import type { SymbolInfo } from '../protocol.js';

/** A listed symbol the simulator knows: its reference price (previous close) and annual volatility. */
export type Listing = SymbolInfo & { prevClose: number; volatility: number; avgVolume: number };

const listing = (
  symbol: string,
  name: string,
  exchange: 'NASDAQ' | 'NYSE',
  prevClose: number,
  volatility: number,
  avgVolume: number,
): Listing => ({ symbol, name, exchange, currency: 'USD', prevClose, volatility, avgVolume });

/** About fifty large US listings, with plausible prices; the embedded default's universe. */
export const US_LISTINGS: readonly Listing[] = [
  listing('AAPL', 'Apple Inc.', 'NASDAQ', 229.87, 0.25, 55_000_000),
  listing('MSFT', 'Microsoft Corp.', 'NASDAQ', 431.25, 0.22, 20_000_000),
  listing('NVDA', 'NVIDIA Corp.', 'NASDAQ', 178.42, 0.5, 240_000_000),
  listing('AMZN', 'Amazon.com Inc.', 'NASDAQ', 221.3, 0.3, 40_000_000),
  listing('GOOGL', 'Alphabet Inc. Class A', 'NASDAQ', 198.65, 0.28, 30_000_000),
  listing('GOOG', 'Alphabet Inc. Class C', 'NASDAQ', 199.82, 0.28, 20_000_000),
  listing('META', 'Meta Platforms Inc.', 'NASDAQ', 712.4, 0.35, 14_000_000),
  listing('TSLA', 'Tesla Inc.', 'NASDAQ', 338.9, 0.6, 95_000_000),
  listing('BRK.B', 'Berkshire Hathaway Inc. Class B', 'NYSE', 487.1, 0.15, 4_000_000),
  listing('AVGO', 'Broadcom Inc.', 'NASDAQ', 312.55, 0.45, 25_000_000),
  listing('JPM', 'JPMorgan Chase & Co.', 'NYSE', 284.6, 0.2, 9_000_000),
  listing('LLY', 'Eli Lilly and Co.', 'NYSE', 801.2, 0.3, 3_500_000),
  listing('V', 'Visa Inc.', 'NYSE', 342.75, 0.18, 6_500_000),
  listing('UNH', 'UnitedHealth Group Inc.', 'NYSE', 318.4, 0.35, 9_000_000),
  listing('XOM', 'Exxon Mobil Corp.', 'NYSE', 114.35, 0.22, 15_000_000),
  listing('MA', 'Mastercard Inc.', 'NYSE', 571.9, 0.18, 3_000_000),
  listing('JNJ', 'Johnson & Johnson', 'NYSE', 178.2, 0.15, 7_500_000),
  listing('PG', 'Procter & Gamble Co.', 'NYSE', 155.6, 0.14, 7_000_000),
  listing('HD', 'Home Depot Inc.', 'NYSE', 392.15, 0.22, 3_500_000),
  listing('COST', 'Costco Wholesale Corp.', 'NASDAQ', 934.5, 0.2, 2_000_000),
  listing('WMT', 'Walmart Inc.', 'NYSE', 101.85, 0.18, 16_000_000),
  listing('NFLX', 'Netflix Inc.', 'NASDAQ', 1184.3, 0.35, 3_500_000),
  listing('ORCL', 'Oracle Corp.', 'NYSE', 246.8, 0.4, 12_000_000),
  listing('BAC', 'Bank of America Corp.', 'NYSE', 50.42, 0.22, 38_000_000),
  listing('CRM', 'Salesforce Inc.', 'NYSE', 246.1, 0.3, 7_000_000),
  listing('AMD', 'Advanced Micro Devices Inc.', 'NASDAQ', 232.75, 0.5, 50_000_000),
  listing('KO', 'Coca-Cola Co.', 'NYSE', 69.3, 0.13, 13_000_000),
  listing('PEP', 'PepsiCo Inc.', 'NASDAQ', 146.9, 0.16, 6_500_000),
  listing('CVX', 'Chevron Corp.', 'NYSE', 154.2, 0.22, 7_500_000),
  listing('ABBV', 'AbbVie Inc.', 'NYSE', 219.4, 0.22, 6_000_000),
  listing('MRK', 'Merck & Co. Inc.', 'NYSE', 86.15, 0.22, 11_000_000),
  listing('ADBE', 'Adobe Inc.', 'NASDAQ', 348.6, 0.32, 3_500_000),
  listing('CSCO', 'Cisco Systems Inc.', 'NASDAQ', 69.85, 0.2, 18_000_000),
  listing('INTC', 'Intel Corp.', 'NASDAQ', 37.4, 0.45, 90_000_000),
  listing('QCOM', 'Qualcomm Inc.', 'NASDAQ', 168.3, 0.32, 8_000_000),
  listing('TXN', 'Texas Instruments Inc.', 'NASDAQ', 182.9, 0.26, 6_000_000),
  listing('DIS', 'Walt Disney Co.', 'NYSE', 113.45, 0.24, 9_000_000),
  listing('MCD', "McDonald's Corp.", 'NYSE', 301.7, 0.15, 3_000_000),
  listing('NKE', 'Nike Inc.', 'NYSE', 71.2, 0.32, 12_000_000),
  listing('IBM', 'International Business Machines', 'NYSE', 288.35, 0.22, 4_500_000),
  listing('GS', 'Goldman Sachs Group Inc.', 'NYSE', 781.5, 0.25, 2_200_000),
  listing('CAT', 'Caterpillar Inc.', 'NYSE', 498.2, 0.28, 2_800_000),
  listing('BA', 'Boeing Co.', 'NYSE', 214.6, 0.35, 8_000_000),
  listing('UBER', 'Uber Technologies Inc.', 'NYSE', 94.3, 0.38, 17_000_000),
  listing('PLTR', 'Palantir Technologies Inc.', 'NASDAQ', 176.8, 0.65, 70_000_000),
  listing('PYPL', 'PayPal Holdings Inc.', 'NASDAQ', 68.9, 0.35, 14_000_000),
  listing('SBUX', 'Starbucks Corp.', 'NASDAQ', 86.4, 0.28, 9_000_000),
  listing('F', 'Ford Motor Co.', 'NYSE', 11.82, 0.35, 60_000_000),
  listing('T', 'AT&T Inc.', 'NYSE', 27.15, 0.18, 35_000_000),
  listing('SPY', 'SPDR S&P 500 ETF Trust', 'NYSE', 664.2, 0.15, 70_000_000),
  listing('QQQ', 'Invesco QQQ Trust', 'NASDAQ', 598.7, 0.2, 45_000_000),
];

/**
 * The first `count` listings; past the real ones, synthetic symbols (`SYM0051`...) so benchmarks can
 * ask for hundreds of symbols from the same simulator.
 */
export function listings(count: number = US_LISTINGS.length): Listing[] {
  const out = US_LISTINGS.slice(0, count);
  for (let i = out.length; i < count; i++) {
    const base = US_LISTINGS[i % US_LISTINGS.length] as Listing;
    out.push({
      ...base,
      symbol: `SYM${String(i + 1).padStart(4, '0')}`,
      name: `Synthetic ${i + 1}`,
      prevClose: Math.round(base.prevClose * (0.5 + ((i * 7919) % 100) / 100) * 100) / 100,
    });
  }
  return out;
}
