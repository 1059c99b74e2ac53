// The typed client (package export `emberplane/client`; docs/client.md).
export { ApiError, EmberplaneClient, type ApiErrorDetail, type ClientOptions, type TransferProgress } from './client.js';
export { followFunction, followStep, STEP_ENDED, type FollowedLine } from './follow.js';
export { graphql } from './gql/index.js';
export { waitFor } from './wait.js';
