// The one account and region every ARN and event of this platform names (there is no multi-account
// or multi-region model): AWS-shaped documents need them, and they must agree across sources.
export const ACCOUNT = '000000000000';
export const REGION = 'local';
