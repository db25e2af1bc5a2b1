from qari.cli import main

main()
