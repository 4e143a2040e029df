import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
let t = Date.now();
const app = new App({ outdir: '/tmp/cdk-t3' });
const s = new Stack(app, 'S');
new s3.Bucket(s, 'B');
app.synth();
console.log('synth', Date.now() - t);
