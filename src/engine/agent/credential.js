// The node agent's credential (docs/agent-protocol.md "Credentials"), shared by the agent and the
// control plane. Plain JS like the agent, which runs on other hosts.
//
// The agent proves it holds its instance's key with an HMAC over a fresh challenge of the
// connection and the instance id: nothing on the wire can be replayed, nor used for another
// instance, and a listener posing as the control plane learns nothing it can use. The control
// plane proves it knows the key too, in its welcome, so such a listener can't command the agent.
// The key is rotated at every welcome by deriving the next one from it and that challenge, so no
// secret travels either.
import { createHash, createHmac } from 'node:crypto';

/** The key of a join secret (what the control plane stores, and all the agent keeps). @param {string} secret */
export function credentialKey(secret) {
  return createHash('sha256').update(secret).digest('hex');
}

/** The proof for one hello. @param {string} key @param {string} nonce @param {string} instanceId */
export function helloProof(key, nonce, instanceId) {
  return createHmac('sha256', key).update(`hello\n${nonce}\n${instanceId}`).digest('hex');
}

/** The control plane's proof, in its welcome. @param {string} key @param {string} nonce @param {string} instanceId */
export function welcomeProof(key, nonce, instanceId) {
  return createHmac('sha256', key).update(`welcome\n${nonce}\n${instanceId}`).digest('hex');
}

/** The key for the next hello, once the connection with challenge `nonce` was welcomed. @param {string} key @param {string} nonce */
export function nextCredentialKey(key, nonce) {
  return createHmac('sha256', key).update(`next\n${nonce}`).digest('hex');
}

/**
 * A host's proof for fetching one code package over HTTP: bound to the challenge of the host's
 * current session and to the package's hash, so it fetches nothing else and is void once the
 * session ends. @param {string} key @param {string} nonce @param {string} codeHash
 */
export function codeProof(key, nonce, codeHash) {
  return createHmac('sha256', key).update(`code\n${nonce}\n${codeHash}`).digest('hex');
}
