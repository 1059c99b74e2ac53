import { spawn } from 'node:child_process';

/**
 * Writes `files` one after the other to the open descriptor `fd`. GNU cat copies with
 * copy_file_range(2): the bytes go from file to file inside the kernel, never through this process
 * (a stream through JavaScript costs the event loop a read and a write per MiB, and is slower).
 * The caller checks sizes and fsyncs.
 */
export function joinFiles(files: string[], fd: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cat = spawn('cat', ['--', ...files], { stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    cat.stderr!.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-2000);
    });
    cat.on('error', reject);
    cat.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`cat exited ${code ?? signal}: ${stderr.trim()}`))));
  });
}
