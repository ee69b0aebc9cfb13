import type { Edge } from '../delivery/edge.js';
import type { Metrics } from '../metrics.js';

/** What every role returns: where it listens, its metrics, and how to stop it. */
export type RunningNode = Pick<Edge, 'url' | 'port' | 'metricsUrl' | 'close'> & { readonly metrics: Metrics };
