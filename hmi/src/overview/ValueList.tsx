/** Key values as label and reading, each a link to its faceplate. */
import { useHmiState } from '../shared/context.js';
import { hrefTag } from '../shared/router.js';
import { viewTag } from '../live/tag-view.js';
import { TagValue } from '../live/TagValue.js';

export function ValueList({ tags }: { tags: readonly string[] }) {
  const state = useHmiState();
  return (
    <dl class="values">
      {tags.map((name) => {
        const v = viewTag(state, name);
        return (
          <div class="values-row" key={name} data-tag={name}>
            <dt>
              <a href={hrefTag(name)}>{v.info?.description || name}</a>
            </dt>
            <dd>
              <TagValue view={v} />
            </dd>
          </div>
        );
      })}
    </dl>
  );
}
