from schemalens.commands import main

raise SystemExit(main())
