// Blocking helper for RemoteSerialLink's synchronous exchanges: one request line from stdin to the link host's
// unix socket, its one reply line to stdout. Plain JavaScript: it must start fast.
import { connect } from 'node:net';

let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const socket = connect(process.argv[2], () => socket.write(input.endsWith('\n') ? input : input + '\n'));
  socket.pipe(process.stdout);
  socket.on('error', (e) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  });
});
