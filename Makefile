# The two commands a newcomer needs: `make run` and `make test`. Both set up first.
.PHONY: setup run test bench lint
setup:
	@bash scripts/setup.sh

run: setup
	@bash scripts/run.sh

test: setup
	@bash scripts/test.sh
