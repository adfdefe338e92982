"""The GPU check: one prepared command that proves rft's GPU path in one short device call (see __main__)."""
