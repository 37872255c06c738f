"""`python -m llmobs` runs the command line."""

from llmobs.cli import main

main()
