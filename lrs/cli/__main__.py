from lrs.cli import main

raise SystemExit(main())
