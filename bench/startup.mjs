// Start-up: `coopctl --version` and `--help` against `node -e 0` (target ≤ 2×).
import path from 'node:path';
import { compare, report } from './lib.mjs';

const bin = path.resolve(import.meta.dirname, '..', 'bin', 'coopctl');
const runs = Number(process.env.RUNS ?? 20);
const [base, version, help] = compare(
  [
    { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
    { name: 'coopctl --version', cmd: process.execPath, args: [bin, '--version'] },
    { name: 'coopctl --help', cmd: process.execPath, args: [bin, '--help'] },
  ],
  runs,
);
report(`start-up (median of ${runs} interleaved runs)`, base, [version, help], 2);
