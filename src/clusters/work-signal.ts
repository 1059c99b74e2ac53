/**
 * In-process "this cluster may have work" hints. A change committed by this process wakes its own
 * dispatcher at once; other replicas learn of it through the event NOTIFY (a round trip later).
 */
export class WorkHints {
  private handlers = new Set<(clusterId: string) => void>();

  on(handler: (clusterId: string) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  emit(clusterId: string): void {
    for (const handler of this.handlers) handler(clusterId);
  }
}
