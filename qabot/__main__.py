from qabot.cli import run

run()
