from schemalens.commands import run

run()
