from siaga.cli import entry

entry()
