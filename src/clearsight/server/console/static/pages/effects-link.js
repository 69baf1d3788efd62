// The live-effects page (effects.html, owned by the effects area) shares the console's sign-in.
clearsight.registerLink("Live effects", "/console/static/effects.html", "faces:analyze");
