// Fuzzing the PDU gate with dcmjs-dimse behind it, and the command-set decoder (ADR 0125).
import { fuzzTests } from '../../../test/support/fuzz/replay.js';
import { pduTarget } from '../../../test/support/fuzz/targets.js';

fuzzTests(pduTarget);
