// What one socket round trip between two processes costs this machine in CPU, on the side that
// measures it: the floor under every figure where a request crosses processes (a load client and
// the server, the server and a function instance: an invocation at c=64 makes two such round trips,
// each waking a process). Run with `taskset -c 0` it measures the same with both processes on one
// core, where a wake-up needs no other core (on a VM, no interrupt to another vCPU).
// Prints one JSON line: { cpuUs, wallUs } per round trip.
import { fork } from 'node:child_process';
import net from 'node:net';

const ROUND_TRIPS = 20_000;
const MESSAGE = Buffer.alloc(300, 120);

if (process.argv[2] === 'echo') {
  const socket = net.connect(Number(process.argv[3]), '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('data', (bytes) => socket.write(bytes));
  socket.on('error', () => process.exit(0));
  socket.on('close', () => process.exit(0));
} else {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let left = ROUND_TRIPS;
    const wall = performance.now();
    const cpu = process.cpuUsage();
    socket.on('data', () => {
      if (--left > 0) return void socket.write(MESSAGE);
      const used = process.cpuUsage(cpu);
      process.stdout.write(
        `${JSON.stringify({ cpuUs: (used.user + used.system) / ROUND_TRIPS, wallUs: ((performance.now() - wall) * 1000) / ROUND_TRIPS })}\n`,
      );
      socket.destroy();
      server.close();
    });
    socket.write(MESSAGE);
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = /** @type {net.AddressInfo} */ (server.address());
    fork(new URL(import.meta.url).pathname, ['echo', String(port)], { stdio: 'ignore' });
  });
}
