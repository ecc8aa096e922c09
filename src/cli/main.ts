import { endQuietlyWhenOutputCloses } from './output.ts';
import { runCli } from './program.ts';

endQuietlyWhenOutputCloses([process.stdout, process.stderr], (code) => process.exit(code));

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
