"""The console's pages, one Powertools Router per page group; kaeri.console.app includes them all."""
