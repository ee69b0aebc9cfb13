/**
 * The wire types of the SDK's public API. They live in the server's src/protocol.ts, the one place the protocol
 * is written in code (the server, the SDK and the dashboard check every emit and ack against it); the build
 * inlines them, so the package does not depend on the server. The messages themselves are in wire.ts.
 */
export type {
  CloseNotice,
  ClusterStatus,
  ErrorCode,
  FeedState,
  FeedStatus,
  Quote,
  Rejection,
  ReplayCommand,
  ReplayStatus,
  SessionState,
  SessionStatus,
  Status,
  SymbolInfo,
} from '../../../src/protocol.js';
