// Fuzzing the one Part 10 reading path (issue #16, Deliver 6; ADR 0125).
import { fuzzTests } from '../../../test/support/fuzz/replay.js';
import { part10Target } from '../../../test/support/fuzz/targets.js';

fuzzTests(part10Target);
