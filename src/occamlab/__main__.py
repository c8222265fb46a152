from occamlab.cli import main

main()
