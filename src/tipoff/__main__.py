from tipoff.cli import main

# Guarded: rescoring's worker processes start by importing the main module.
if __name__ == "__main__":
    main()
