// Fuzzing the multipart/related parser (ADR 0125).
import { fuzzTests } from '../../../test/support/fuzz/replay.js';
import { multipartTarget } from '../../../test/support/fuzz/targets.js';

fuzzTests(multipartTarget);
