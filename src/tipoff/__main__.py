from tipoff.cli import main

main()
