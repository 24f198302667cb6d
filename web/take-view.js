// The take view's markup, in one place for the two pages that take a
// prompt: the dev page (index.html, app.js), with a way back to its list
// and to another prompt, and the participant page (embed.html, embed.js),
// without. Static markup only: everything a prompt or a person brings is
// set later as text (take.js, room.js, faces.js).

const VIEW = `
  <div class="take-head">
    <button id="back" class="ghost" type="button">← Prompts</button>
    <div class="countdown" aria-label="Time left">
      <span id="remaining" class="remaining">0:00</span>
      <div class="progress"><div id="progress-bar" class="progress-bar"></div></div>
    </div>
  </div>

  <div class="take-grid">
    <div class="card you">
      <p id="prompt-style" class="eyebrow"></p>
      <h2 id="prompt-text"></h2>
      <div id="controls" class="controls"></div>
      <div class="you-foot">
        <button id="like" class="like" type="button" aria-label="Like">
          <span class="heart" aria-hidden="true">♥</span> Like
        </button>
        <span id="status" class="status" aria-live="polite"></span>
      </div>
      <p class="explain">Answer whenever it changes for you. Everyone who took this prompt before
        is replayed at the very moment they answered; people taking it right now appear as they do.</p>
    </div>

    <div class="card room" aria-label="The room">
      <div class="totals">
        <div class="stat"><span id="users" class="num">0</span><span class="label">here</span></div>
        <div class="stat"><span id="likes" class="num">0</span><span class="label">likes</span></div>
        <div class="stat"><span id="answered" class="num">0</span><span id="answered-label" class="label">answered</span></div>
      </div>
      <div id="faces" class="faces" aria-label="Some of the people here" hidden></div>
      <div id="distribution" class="distribution"></div>
      <h3 class="flow-title">In the room <span class="dot" aria-hidden="true"></span></h3>
      <ol id="flow" class="flow" aria-live="off"></ol>
    </div>
  </div>

  <section id="after" class="card after" hidden>
    <h3>The whole prompt</h3>
    <p class="hint">Everyone's answers over time, yours marked.</p>
    <div id="chart" class="chart"></div>
    <div id="legend" class="legend"></div>
    <button id="again" class="primary" type="button">Take another prompt</button>
  </section>
`;

/**
 * Fills `section` (the page's empty `#take`) with the take view.
 * `list: false` leaves out the ways back to a prompt list (`#back`,
 * `#again`), which the participant page has none of.
 */
export function buildTakeView(section, { list = true } = {}) {
  const template = document.createElement('template');
  template.innerHTML = VIEW;
  if (!list) for (const id of ['back', 'again']) template.content.getElementById(id).remove();
  section.replaceChildren(template.content);
}
