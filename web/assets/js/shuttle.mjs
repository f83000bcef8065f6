// Shuttle's only script: start the GOV.UK and MOJ components. Every page works without it.
import * as govuk from "./govuk-frontend.min.js";
import * as moj from "./moj-frontend.min.js";
import { startInboxLive } from "./inbox-live.mjs";
import { startLiveCounts } from "./queue-live.mjs";
import { startReveals } from "./reveal.mjs";

document.body.classList.add("govuk-frontend-supported");
govuk.initAll();
moj.initAll();
startReveals();
startLiveCounts();
startInboxLive();
