// The driver-monitoring page (dms.html) shares the console's sign-in.
clearsight.registerLink("Driver monitoring", "/console/static/dms.html", "faces:analyze");
