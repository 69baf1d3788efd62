"""`python -m clearsight.cli`: the same command as the `clearsight` console script."""

from . import main

main()
